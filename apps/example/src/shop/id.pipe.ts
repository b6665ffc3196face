import { NotFoundException, type PipeTransform } from '@nestjs/common';

/** The largest id of an `integer` column (PostgreSQL refuses a larger one in a query: a 500, not a 404). */
export const MAX_ID = 2_147_483_647;

/**
 * A path id: a whole number from 1 to MAX_ID; anything else names no row, so it is a 404. (The app's global
 * ValidationPipe may have made the text a number already.)
 */
export class ParseIdPipe implements PipeTransform<unknown, number> {
  transform(value: unknown): number {
    const text = String(value);
    if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > MAX_ID)
      throw new NotFoundException(`No row has the id ${JSON.stringify(text.slice(0, 40))}.`);
    return Number(text);
  }
}
