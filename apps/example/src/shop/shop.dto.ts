import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { MAX_ID } from './id.pipe.js';
import { ORDER_STATUSES } from './order.entity.js';

const DECIMAL = /^\d{1,10}(\.\d{1,2})?$/;

export class CreateCustomerDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Acme' })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiProperty({ format: 'email', example: 'acme@example.com' })
  @IsEmail()
  email: string;
}

export class UpdateCustomerDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ format: 'email' })
  @IsOptional()
  @IsEmail()
  email?: string;
}

export class CreateOrderDto {
  @ApiProperty({ minimum: 1, description: 'The customer (owner) of the order.' })
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  customerId: number;

  @ApiProperty({ pattern: DECIMAL.source, example: '19.99' })
  @IsString()
  @Matches(DECIMAL, { message: 'total must be a decimal string with up to 2 decimals, like "19.99"' })
  total: string;

  @ApiProperty({ enum: ORDER_STATUSES })
  @IsIn(ORDER_STATUSES)
  status: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 50, description: 'Endpoint filters can select on it.' })
  @IsOptional()
  @IsString()
  @Length(1, 50)
  bucket?: string;
}

export class UpdateOrderDto {
  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  customerId?: number;

  @ApiPropertyOptional({ pattern: DECIMAL.source, example: '24.50' })
  @IsOptional()
  @IsString()
  @Matches(DECIMAL, { message: 'total must be a decimal string with up to 2 decimals, like "19.99"' })
  total?: string;

  @ApiPropertyOptional({ enum: ORDER_STATUSES, description: 'Becoming "shipped" also sends order.shipped.' })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: string;

  @ApiPropertyOptional({ type: String, nullable: true, minLength: 1, maxLength: 50 })
  @IsOptional()
  @IsString()
  @Length(1, 50)
  bucket?: string | null;
}
