import { Controller, Get, Header, Inject, UseGuards } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../app.constants.js';
import { ApiTokenGuard } from '../auth/api-token.guard.js';

/** Prometheus text exposition of the app's registry: the webhook metrics and Node's process metrics. */
@Controller('metrics')
@UseGuards(ApiTokenGuard)
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
