import { WebhookEntity } from 'nestjs-outgoing-webhooks';
import { BaseEntity, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { customerOwner } from './owner.js';

/** A customer's events belong to the customer: they reach its own endpoints (and the operator's ownerless ones). */
@WebhookEntity({ name: 'customer', owner: (customer: Customer) => customerOwner(customer.id) })
@Entity({ name: 'customer' })
export class Customer extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 320 })
  email: string;

  @CreateDateColumn()
  createdAt: Date;

  @UpdateDateColumn()
  updatedAt: Date;
}
