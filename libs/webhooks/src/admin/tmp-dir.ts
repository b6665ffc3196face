import { join } from 'node:path';

/**
 * AdminJS writes the bundle of custom components into ADMIN_JS_TMP_DIR (default `.adminjs`) and, in production,
 * serves it with Express's `sendFile`, which refuses paths through dot-directories: the dashboard would load without
 * its components. Default to a folder without a leading dot. This module must be evaluated before `adminjs` is
 * (it reads the variable when loaded), so it is the first import of the admin entry point.
 */
process.env.ADMIN_JS_TMP_DIR ??= join(process.cwd(), 'tmp', 'adminjs');
