import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import { Customer } from './customer.entity.js';

/**
 * A customer's API key, stored as its SHA-256 digest only: the key itself is shown once, when it is made. (A
 * random 192-bit key needs no slow hash: there is nothing to guess.) Not a webhook entity: keys never leave the app.
 */
@Entity({ name: 'customer_api_key' })
export class CustomerApiKey {
  @PrimaryGeneratedColumn({ primaryKeyConstraintName: 'PK_customer_api_key' })
  id: number;

  @Column({ type: 'integer' })
  @Index('IDX_customer_api_key_customer')
  customerId: number;

  @ManyToOne(() => Customer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customerId', foreignKeyConstraintName: 'FK_customer_api_key_customer' })
  customer?: Relation<Customer>;

  /** Hex SHA-256 of the key. */
  @Column({ type: 'varchar', length: 64 })
  @Index('IDX_customer_api_key_hash', { unique: true })
  keyHash: string;

  @CreateDateColumn()
  createdAt: Date;
}
