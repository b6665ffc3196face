import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  Req,
  UnauthorizedException,
  UseFilters,
  UseGuards,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { EndpointInput } from '../endpoints/endpoint-input.js';
import type { RotateSecretOptions } from '../endpoints/endpoint-secrets.js';
import { WebhooksExceptionFilter } from '../errors/webhooks-exception.filter.js';
import { WebhookConfigurationError, WebhookValidationError } from '../errors/webhooks.errors.js';
import type { RecoverOptions } from '../management/deliveries.service.js';
import type { OwnerScope } from '../management/owner-scope.js';
import { WebhooksService } from '../webhooks.service.js';

/** Works out the owner of a request, after the guards ran: a string, or null/undefined for none (401). */
export type OwnerResolver<TRequest = unknown> = (request: TRequest) => string | null | undefined | Promise<string | null | undefined>;

/** How the controllers of one mount find their owner scope. */
export interface OwnerApiConfig {
  path: string;
  owner: OwnerResolver<unknown>;
  guards: (CanActivate | Type<CanActivate>)[];
  topics?: readonly string[];
}

/** Resolves the request's owner and its scope; shared by the controllers of one mount. */
class Scopes {
  private webhooks?: WebhooksService;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly config: OwnerApiConfig,
  ) {}

  async of(request: unknown): Promise<OwnerScope> {
    const owner = await this.config.owner(request);
    if (owner === null || owner === undefined) {
      throw new UnauthorizedException('This request has no owner: authenticate as the owner of the webhook endpoints.');
    }
    if (typeof owner !== 'string') {
      throw new WebhookConfigurationError(
        `The owner resolver of the webhooks API at /${this.config.path} answered ${typeof owner} ${JSON.stringify(owner)}; ` +
          `it must answer a string (String(customer.id), say), or null when the request has no owner.`,
      );
    }
    return this.service().forOwner(owner, { topics: this.config.topics });
  }

  /** Found wherever WebhooksModule was imported, global or not. */
  service(): WebhooksService {
    this.webhooks ??= this.moduleRef.get(WebhooksService, { strict: false });
    return this.webhooks;
  }
}

/** A query parameter given at most once. */
function single(name: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new WebhookValidationError(`Query parameter ${name} must be given once.`, { [name]: [`${name} must be given once`] });
}

function limitOf(value: unknown): number | undefined {
  const text = single('limit', value);
  return text === undefined ? undefined : Number(text);
}

/**
 * The controllers of one mount of the owner API: classes made per mount, so that each has its path and guards.
 * The owner always comes from the request (its authentication), never from the body.
 */
export function ownerApiControllers(config: OwnerApiConfig): Type[] {
  @Controller(`${config.path}/webhook-endpoints`)
  @UseGuards(...config.guards)
  @UseFilters(WebhooksExceptionFilter)
  class OwnerEndpointsController {
    private readonly scopes: Scopes;

    constructor(@Inject(ModuleRef) moduleRef: ModuleRef) {
      this.scopes = new Scopes(moduleRef, config);
    }

    @Post()
    async create(@Req() request: unknown, @Body() body: EndpointInput) {
      return (await this.scopes.of(request)).createEndpoint(body);
    }

    @Get()
    async list(@Req() request: unknown) {
      return (await this.scopes.of(request)).listEndpoints();
    }

    @Get(':id')
    async get(@Req() request: unknown, @Param('id') id: string) {
      return (await this.scopes.of(request)).getEndpoint(id);
    }

    @Patch(':id')
    async update(@Req() request: unknown, @Param('id') id: string, @Body() body: Partial<EndpointInput>) {
      return (await this.scopes.of(request)).updateEndpoint(id, body);
    }

    @Delete(':id')
    @HttpCode(204)
    async remove(@Req() request: unknown, @Param('id') id: string) {
      await (await this.scopes.of(request)).deleteEndpoint(id);
    }

    @Post(':id/enable')
    @HttpCode(200)
    async enable(@Req() request: unknown, @Param('id') id: string) {
      return (await this.scopes.of(request)).enable(id);
    }

    @Post(':id/disable')
    @HttpCode(200)
    async disable(@Req() request: unknown, @Param('id') id: string) {
      return (await this.scopes.of(request)).disable(id);
    }

    @Post(':id/test')
    @HttpCode(200)
    async test(@Req() request: unknown, @Param('id') id: string, @Body() body?: { payload?: unknown; topic?: string }) {
      return (await this.scopes.of(request)).sendTest(id, body ?? {});
    }

    @Post(':id/rotate-secret')
    @HttpCode(200)
    async rotateSecret(@Req() request: unknown, @Param('id') id: string, @Body() body?: RotateSecretOptions) {
      return (await this.scopes.of(request)).rotateSecret(id, body ?? {});
    }

    @Post(':id/recover')
    @HttpCode(200)
    async recover(@Req() request: unknown, @Param('id') id: string, @Body() body: RecoverOptions) {
      return (await this.scopes.of(request)).recover(id, body);
    }

    @Get(':id/deliveries')
    async deliveries(@Req() request: unknown, @Param('id') id: string, @Query('limit') limit?: unknown, @Query('before') before?: unknown) {
      const scope = await this.scopes.of(request);
      return scope.listDeliveries(id, { limit: limitOf(limit), before: single('before', before) });
    }
  }

  @Controller(`${config.path}/deliveries`)
  @UseGuards(...config.guards)
  @UseFilters(WebhooksExceptionFilter)
  class OwnerDeliveriesController {
    private readonly scopes: Scopes;

    constructor(@Inject(ModuleRef) moduleRef: ModuleRef) {
      this.scopes = new Scopes(moduleRef, config);
    }

    @Get(':id')
    async get(@Req() request: unknown, @Param('id') id: string) {
      return (await this.scopes.of(request)).getDelivery(id);
    }

    @Post(':id/redeliver')
    @HttpCode(202)
    async redeliver(@Req() request: unknown, @Param('id') id: string) {
      return (await this.scopes.of(request)).redeliver(id);
    }
  }

  @Controller(`${config.path}/event-types`)
  @UseGuards(...config.guards)
  @UseFilters(WebhooksExceptionFilter)
  class OwnerEventTypesController {
    private readonly scopes: Scopes;

    constructor(@Inject(ModuleRef) moduleRef: ModuleRef) {
      this.scopes = new Scopes(moduleRef, config);
    }

    /** The event catalogue's entries of the topics the owner may subscribe to: `[{ name, description, schema }]`. */
    @Get()
    async list(@Req() request: unknown) {
      const allowed = new Set((await this.scopes.of(request)).topics());
      return this.scopes
        .service()
        .eventTypes()
        .filter((type) => allowed.has(type.name));
    }
  }

  return [OwnerEndpointsController, OwnerDeliveriesController, OwnerEventTypesController];
}
