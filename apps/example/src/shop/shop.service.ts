import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { DataSource } from 'typeorm';
import { apiKeyHash, newApiKey } from '../auth/api-keys.js';
import { CustomerApiKey } from './api-key.entity.js';
import { Customer } from './customer.entity.js';
import { Order } from './order.entity.js';
import { customerOwner } from './owner.js';
import type { CreateCustomerDto, CreateOrderDto, UpdateCustomerDto, UpdateOrderDto } from './shop.dto.js';

/**
 * Plain TypeORM persistence: loading and saving whole entities is what lets the webhook subscriber see the old
 * and new values of each change.
 */
@Injectable()
export class ShopService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly webhooks: WebhooksService,
  ) {}

  listCustomers(): Promise<Customer[]> {
    return this.dataSource.getRepository(Customer).find({ order: { id: 'ASC' } });
  }

  async getCustomer(id: number): Promise<Customer> {
    const customer = await this.dataSource.getRepository(Customer).findOneBy({ id });
    if (!customer) throw new NotFoundException(`Customer ${id} does not exist.`);
    return customer;
  }

  /** A new customer and its API key, in one transaction; the key is returned here only (it is stored hashed). */
  createCustomer(dto: CreateCustomerDto): Promise<Customer & { apiKey: string }> {
    return this.dataSource.transaction(async (manager) => {
      const customer = await manager.save(manager.create(Customer, { name: dto.name, email: dto.email }));
      const apiKey = newApiKey();
      await manager.save(manager.create(CustomerApiKey, { customerId: customer.id, keyHash: apiKeyHash(apiKey) }));
      return Object.assign(customer, { apiKey });
    });
  }

  /** Replaces the customer's API keys with a new one, returned here only: the old keys stop working at once. */
  async replaceApiKey(id: number): Promise<{ apiKey: string }> {
    return this.dataSource.transaction(async (manager) => {
      if (!(await manager.existsBy(Customer, { id }))) throw new NotFoundException(`Customer ${id} does not exist.`);
      await manager.delete(CustomerApiKey, { customerId: id });
      const apiKey = newApiKey();
      await manager.save(manager.create(CustomerApiKey, { customerId: id, keyHash: apiKeyHash(apiKey) }));
      return { apiKey };
    });
  }

  /** Whether a webhook endpoint's `ownerId` names a customer: the decimal id of an existing one. */
  async isCustomerId(ownerId: unknown): Promise<boolean> {
    if (typeof ownerId !== 'string' || !/^[1-9]\d{0,9}$/.test(ownerId) || Number(ownerId) > 2147483647) return false;
    return this.dataSource.getRepository(Customer).existsBy({ id: Number(ownerId) });
  }

  async updateCustomer(id: number, dto: UpdateCustomerDto): Promise<Customer> {
    const customer = await this.getCustomer(id);
    return this.dataSource.getRepository(Customer).save(Object.assign(customer, definedFields(dto)));
  }

  async deleteCustomer(id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const customer = await manager.findOneBy(Customer, { id });
      if (!customer) throw new NotFoundException(`Customer ${id} does not exist.`);
      // A database cascade would delete orders without webhooks; make the caller delete them first.
      if (await manager.existsBy(Order, { customerId: id })) {
        throw new ConflictException(`Customer ${id} still has orders; delete them first.`);
      }
      // Its API keys go with it (ON DELETE CASCADE); its webhook endpoints stay, for the operator to remove.
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

  /** Saves the change; an order that becomes "shipped" also sends `order.shipped`, in the same transaction. */
  async updateOrder(id: number, dto: UpdateOrderDto): Promise<Order> {
    const order = await this.getOrder(id);
    if (dto.customerId !== undefined) await this.requireCustomer(dto.customerId);
    const patch = definedFields(dto.total === undefined ? dto : { ...dto, total: normalizeDecimal(dto.total) });
    const shipped = patch.status === 'shipped' && order.status !== 'shipped';
    return this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(Object.assign(order, patch));
      if (shipped) {
        const data = { orderId: saved.id, customerId: saved.customerId, total: saved.total };
        await this.webhooks.emit('order.shipped', data, { manager, owner: customerOwner(saved.customerId) });
      }
      return saved;
    });
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

/**
 * The fields a DTO sets: a validated DTO holds every declared field, the ones not sent as undefined, and assigning
 * those would blank the entity's values in memory (the answer, and what webhooks see of the row).
 */
function definedFields<T extends object>(dto: T): Partial<T> {
  return Object.fromEntries(Object.entries(dto).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** "12.5" -> "12.50": the same text whatever the database hands back. */
function normalizeDecimal(value: string): string {
  const [whole, fraction = ''] = value.split('.');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}
