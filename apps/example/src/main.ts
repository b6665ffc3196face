import 'reflect-metadata';
import { announce, createApp } from './bootstrap.js';
import { loadConfig } from './config.js';

const config = loadConfig();
const app = await createApp(config);
app.enableShutdownHooks();
await app.listen(config.port);
announce(config, await app.getUrl());
