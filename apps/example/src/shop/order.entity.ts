import { WebhookEntity } from 'nestjs-outgoing-webhooks';
import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  type Relation,
} from 'typeorm';
import { Customer } from './customer.entity.js';
import { customerOwner } from './owner.js';

/** SQLite hands decimals back as numbers, PostgreSQL as strings: expose both as "12.50". */
const decimalString = {
  to: (value: string | null | undefined) => value,
  from: (value: string | number | null) => (typeof value === 'number' ? value.toFixed(2) : value),
};

export const ORDER_STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const;

/**
 * An order's events belong to its customer (as it is after the change: a moved order is the new customer's news).
 * `order.shipped` is a custom event the shop emits when an order's status becomes "shipped".
 */
@WebhookEntity({
  name: 'order',
  owner: (order: Order) => customerOwner(order.customerId),
  topics: [
    {
      name: 'shipped',
      description: 'An order\'s status became "shipped" (sent with order.updated, in the same transaction).',
      schema: {
        type: 'object',
        properties: {
          orderId: { type: 'integer' },
          customerId: { type: 'integer' },
          total: { type: 'string', pattern: '^\\d+(\\.\\d{1,2})?$', description: 'The order total, e.g. "19.99".' },
        },
        required: ['orderId', 'customerId', 'total'],
        additionalProperties: false,
      },
    },
  ],
})
@Entity({ name: 'order' })
@Index(['customerId'])
export class Order extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'integer' })
  customerId: number;

  @ManyToOne(() => Customer, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customerId' })
  customer?: Relation<Customer>;

  @Column({ type: 'decimal', precision: 12, scale: 2, transformer: decimalString })
  total: string;

  @Column({ type: 'varchar', length: 20 })
  status: string;

  @Column({ type: 'varchar', length: 50, nullable: true })
  bucket: string | null;

  @CreateDateColumn()
  createdAt: Date;

  @UpdateDateColumn()
  updatedAt: Date;
}
