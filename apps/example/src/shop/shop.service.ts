import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Customer } from './customer.entity.js';
import { Order } from './order.entity.js';
import type { CreateCustomerDto, CreateOrderDto, UpdateCustomerDto, UpdateOrderDto } from './shop.dto.js';

/**
 * Plain TypeORM persistence: loading and saving whole entities is what lets the webhook subscriber see the old
 * and new values of each change.
 */
@Injectable()
export class ShopService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  listCustomers(): Promise<Customer[]> {
    return this.dataSource.getRepository(Customer).find({ order: { id: 'ASC' } });
  }

  async getCustomer(id: number): Promise<Customer> {
    const customer = await this.dataSource.getRepository(Customer).findOneBy({ id });
    if (!customer) throw new NotFoundException(`Customer ${id} does not exist.`);
    return customer;
  }

  createCustomer(dto: CreateCustomerDto): Promise<Customer> {
    return this.dataSource.getRepository(Customer).save(this.dataSource.getRepository(Customer).create(dto));
  }

  async updateCustomer(id: number, dto: UpdateCustomerDto): Promise<Customer> {
    const customer = await this.getCustomer(id);
    return this.dataSource.getRepository(Customer).save(Object.assign(customer, dto));
  }

  async deleteCustomer(id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const customer = await manager.findOneBy(Customer, { id });
      if (!customer) throw new NotFoundException(`Customer ${id} does not exist.`);
      // A database cascade would delete orders without webhooks; make the caller delete them first.
      if (await manager.existsBy(Order, { customerId: id })) {
        throw new ConflictException(`Customer ${id} still has orders; delete them first.`);
      }
      await manager.remove(customer);
    });
  }

  listOrders(): Promise<Order[]> {
    return this.dataSource.getRepository(Order).find({ order: { id: 'ASC' } });
  }

  async getOrder(id: number): Promise<Order> {
    const order = await this.dataSource.getRepository(Order).findOneBy({ id });
    if (!order) throw new NotFoundException(`Order ${id} does not exist.`);
    return order;
  }

  async createOrder(dto: CreateOrderDto): Promise<Order> {
    await this.requireCustomer(dto.customerId);
    const orders = this.dataSource.getRepository(Order);
    return orders.save(orders.create({ ...dto, total: normalizeDecimal(dto.total), bucket: dto.bucket ?? null }));
  }

  async updateOrder(id: number, dto: UpdateOrderDto): Promise<Order> {
    const order = await this.getOrder(id);
    if (dto.customerId !== undefined) await this.requireCustomer(dto.customerId);
    const patch = dto.total === undefined ? dto : { ...dto, total: normalizeDecimal(dto.total) };
    return this.dataSource.getRepository(Order).save(Object.assign(order, patch));
  }

  async deleteOrder(id: number): Promise<void> {
    const order = await this.getOrder(id);
    await this.dataSource.getRepository(Order).remove(order);
  }

  private async requireCustomer(id: number): Promise<void> {
    if (!(await this.dataSource.getRepository(Customer).existsBy({ id }))) {
      throw new BadRequestException(`customerId ${id} does not exist.`);
    }
  }
}

/** "12.5" -> "12.50": the same text whatever the database hands back. */
function normalizeDecimal(value: string): string {
  const [whole, fraction = ''] = value.split('.');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}
