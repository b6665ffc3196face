import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Req, UseGuards } from '@nestjs/common';
import { ParseIdPipe } from './id.pipe.js';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiTokenGuard } from '../auth/api-token.guard.js';
import { CustomerKeyGuard, type CustomerRequest } from '../auth/customer-key.guard.js';
import { CreateCustomerDto, CreateOrderDto, UpdateCustomerDto, UpdateOrderDto } from './shop.dto.js';
import { ShopService } from './shop.service.js';

@ApiTags('customers')
@ApiBearerAuth('operator')
@Controller('api/customers')
@UseGuards(ApiTokenGuard)
export class CustomersController {
  constructor(private readonly shop: ShopService) {}

  @Get()
  list() {
    return this.shop.listCustomers();
  }

  @Get(':id')
  get(@Param('id', ParseIdPipe) id: number) {
    return this.shop.getCustomer(id);
  }

  /** 201 with the customer and its `apiKey`, shown this once (stored hashed). */
  @Post()
  create(@Body() dto: CreateCustomerDto) {
    return this.shop.createCustomer(dto);
  }

  /** A new API key for the customer, shown this once; the previous one stops working. */
  @Post(':id/api-key')
  replaceApiKey(@Param('id', ParseIdPipe) id: number) {
    return this.shop.replaceApiKey(id);
  }

  @Patch(':id')
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateCustomerDto) {
    return this.shop.updateCustomer(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', ParseIdPipe) id: number) {
    await this.shop.deleteCustomer(id);
  }
}

@ApiTags('orders')
@ApiBearerAuth('operator')
@Controller('api/orders')
@UseGuards(ApiTokenGuard)
export class OrdersController {
  constructor(private readonly shop: ShopService) {}

  @Get()
  list() {
    return this.shop.listOrders();
  }

  @Get(':id')
  get(@Param('id', ParseIdPipe) id: number) {
    return this.shop.getOrder(id);
  }

  @Post()
  create(@Body() dto: CreateOrderDto) {
    return this.shop.createOrder(dto);
  }

  @Patch(':id')
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateOrderDto) {
    return this.shop.updateOrder(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', ParseIdPipe) id: number) {
    await this.shop.deleteOrder(id);
  }
}

/** The customer a customer API key belongs to (its webhook routes are under /api/me too, from the library). */
@ApiTags('me')
@ApiBearerAuth('customer')
@Controller('api/me')
@UseGuards(CustomerKeyGuard)
export class MeController {
  constructor(private readonly shop: ShopService) {}

  @Get()
  me(@Req() request: CustomerRequest) {
    return this.shop.getCustomer(request.customerId!);
  }
}
