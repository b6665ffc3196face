import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentLoader } from 'adminjs';

export type Components = ReturnType<typeof registerComponents>;

/** Sidebar placement of the webhook resources. */
export type Navigation = { name: string; icon: string };

/** The React components, bundled by AdminJS from their .tsx sources. */
export function registerComponents(loader: ComponentLoader) {
  const dir = componentsDir();
  const add = (name: string) => loader.add(`Webhooks${name}`, join(dir, `${name}.tsx`));
  return {
    Dashboard: add('Dashboard'),
    EventCatalogue: add('EventCatalogue'),
    HealthBadge: add('HealthBadge'),
    StatusBadge: add('StatusBadge'),
    JsonView: add('JsonView'),
    RecentDeliveries: add('RecentDeliveries'),
    Attempts: add('Attempts'),
    EndpointCreate: add('EndpointCreate'),
    SendTest: add('SendTest'),
    RotateSecret: add('RotateSecret'),
    Recover: add('Recover'),
    ConfirmAction: add('ConfirmAction'),
    BulkConfirm: add('BulkConfirm'),
    TopicsList: add('TopicsList'),
    OptionalField: add('OptionalField'),
  };
}

/** Next to this module; in a build that compiled the library to `dist/`, the sources are beside it in the tree. */
function componentsDir(): string {
  const here = join(import.meta.dirname, 'components');
  if (existsSync(join(here, 'Dashboard.tsx'))) return here;
  const source = here.replace(/([\\/])dist[\\/]/, '$1');
  if (existsSync(join(source, 'Dashboard.tsx'))) return source;
  throw new Error(`The webhook admin components were not found in ${here}: copy libs/webhooks/src/admin/components with the build.`);
}
