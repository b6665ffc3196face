// First: sets ADMIN_JS_TMP_DIR before adminjs reads it.
import './tmp-dir.js';

export { webhooksAdmin, type WebhooksAdmin, type WebhooksAdminOptions } from './webhooks-admin.js';
export { webhooksAdminAuth, type WebhooksAdminAuthOptions } from './admin-auth.js';
export { WebhookEndpointResource, ENDPOINT_RESOURCE_ID } from './endpoint-resource.js';
export { BoundTypeormResource, type BoundResourceOptions } from './bound-resource.js';
