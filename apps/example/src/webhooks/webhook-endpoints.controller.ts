import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseFilters, UseGuards } from '@nestjs/common';
import { WebhooksExceptionFilter, WebhooksService, type EndpointInput } from '@app/webhooks';
import { ApiTokenGuard } from '../auth/api-token.guard.js';

/** The webhook endpoint resource: a thin layer over WebhooksService, which validates. */
@Controller('api/webhook-endpoints')
@UseGuards(ApiTokenGuard)
@UseFilters(WebhooksExceptionFilter)
export class WebhookEndpointsController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  create(@Body() body: EndpointInput) {
    return this.webhooks.createEndpoint(body);
  }

  @Get()
  list() {
    return this.webhooks.listEndpoints();
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.webhooks.getEndpoint(id);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: Partial<EndpointInput>) {
    return this.webhooks.updateEndpoint(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string) {
    await this.webhooks.deleteEndpoint(id);
  }

  @Post(':id/enable')
  @HttpCode(200)
  enable(@Param('id') id: string) {
    return this.webhooks.enable(id);
  }

  @Post(':id/disable')
  @HttpCode(200)
  disable(@Param('id') id: string) {
    return this.webhooks.disable(id);
  }

  @Post(':id/reset-health')
  @HttpCode(200)
  resetHealth(@Param('id') id: string) {
    return this.webhooks.resetHealth(id);
  }

  @Get(':id/deliveries')
  deliveries(@Param('id') id: string, @Query('limit') limit?: string, @Query('before') before?: string) {
    return this.webhooks.listDeliveries(id, { limit: limit === undefined ? undefined : Number(limit), before });
  }
}
