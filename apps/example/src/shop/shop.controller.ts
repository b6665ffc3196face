import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiTokenGuard } from '../auth/api-token.guard.js';
import { CreateCustomerDto, CreateOrderDto, UpdateCustomerDto, UpdateOrderDto } from './shop.dto.js';
import { ShopService } from './shop.service.js';

@Controller('api/customers')
@UseGuards(ApiTokenGuard)
export class CustomersController {
  constructor(private readonly shop: ShopService) {}

  @Get()
  list() {
    return this.shop.listCustomers();
  }

  @Get(':id')
  get(@Param('id', ParseIntPipe) id: number) {
    return this.shop.getCustomer(id);
  }

  @Post()
  create(@Body() dto: CreateCustomerDto) {
    return this.shop.createCustomer(dto);
  }

  @Patch(':id')
  update(@Param('id', ParseIntPipe) id: number, @Body() dto: UpdateCustomerDto) {
    return this.shop.updateCustomer(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', ParseIntPipe) id: number) {
    await this.shop.deleteCustomer(id);
  }
}

@Controller('api/orders')
@UseGuards(ApiTokenGuard)
export class OrdersController {
  constructor(private readonly shop: ShopService) {}

  @Get()
  list() {
    return this.shop.listOrders();
  }

  @Get(':id')
  get(@Param('id', ParseIntPipe) id: number) {
    return this.shop.getOrder(id);
  }

  @Post()
  create(@Body() dto: CreateOrderDto) {
    return this.shop.createOrder(dto);
  }

  @Patch(':id')
  update(@Param('id', ParseIntPipe) id: number, @Body() dto: UpdateOrderDto) {
    return this.shop.updateOrder(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', ParseIntPipe) id: number) {
    await this.shop.deleteOrder(id);
  }
}
