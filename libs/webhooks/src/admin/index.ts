// First: prepares AdminJS's component bundling (temp dir, Babel plugin lookup) before adminjs is loaded.
import './bundler-env.js';

export { webhooksAdmin, type WebhooksAdmin, type WebhooksAdminOptions } from './webhooks-admin.js';
export { webhooksAdminAuth, type WebhooksAdminAuthOptions } from './admin-auth.js';
export { WebhookEndpointResource, ENDPOINT_RESOURCE_ID } from './endpoint-resource.js';
export { BoundTypeormResource, type BoundResourceOptions } from './bound-resource.js';
