import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { ApiTokenGuard } from '../auth/api-token.guard.js';

/** The event catalogue for the operator: every topic, with the JSON Schema of its body. */
@ApiTags('webhook endpoints')
@ApiBearerAuth('operator')
@Controller('api/event-types')
@UseGuards(ApiTokenGuard)
export class EventTypesController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get()
  @ApiOkResponse({ description: '`[{ name, description, schema }]`: every topic, with the JSON Schema (draft 2020-12) of its body.' })
  list() {
    return this.webhooks.eventTypes();
  }
}
