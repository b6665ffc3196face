import { IsEmail, IsIn, IsInt, IsOptional, IsString, Length, Matches, Min } from 'class-validator';
import { ORDER_STATUSES } from './order.entity.js';

const DECIMAL = /^\d{1,10}(\.\d{1,2})?$/;

export class CreateCustomerDto {
  @IsString()
  @Length(1, 200)
  name: string;

  @IsEmail()
  email: string;
}

export class UpdateCustomerDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @IsOptional()
  @IsEmail()
  email?: string;
}

export class CreateOrderDto {
  @IsInt()
  @Min(1)
  customerId: number;

  @IsString()
  @Matches(DECIMAL, { message: 'total must be a decimal string with up to 2 decimals, like "19.99"' })
  total: string;

  @IsIn(ORDER_STATUSES)
  status: string;

  @IsOptional()
  @IsString()
  @Length(1, 50)
  bucket?: string;
}

export class UpdateOrderDto {
  @IsOptional()
  @IsInt()
  @Min(1)
  customerId?: number;

  @IsOptional()
  @IsString()
  @Matches(DECIMAL, { message: 'total must be a decimal string with up to 2 decimals, like "19.99"' })
  total?: string;

  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: string;

  @IsOptional()
  @IsString()
  @Length(1, 50)
  bucket?: string | null;
}
