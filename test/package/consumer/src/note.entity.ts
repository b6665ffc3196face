import { WebhookEntity } from 'nestjs-outgoing-webhooks';
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@WebhookEntity()
@Entity()
export class Note {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 200 })
  text: string;
}
