import { describe, expect, it } from 'vitest';
import { compileFilters, filtersProblems, passesCompiled, type EndpointFilters } from './filters.js';

const order = (entityId: string, data: object) => ({ prefix: 'order', entityId, data });

describe('endpoint filters', () => {
  it.each<[string, EndpointFilters | null, ReturnType<typeof order>, boolean]>([
    ['no filters', null, order('1', {}), true],
    ['filter for another entity', { customer: { ids: [1] } }, order('1', {}), true],
    ['id listed (number vs string id)', { order: { ids: [1, 2] } }, order('2', {}), true],
    ['id not listed', { order: { ids: [1, 2] } }, order('3', {}), false],
    ['bucket equal', { order: { bucket: 'eu' } }, order('1', { bucket: 'eu' }), true],
    ['bucket differs', { order: { bucket: 'eu' } }, order('1', { bucket: 'us' }), false],
    ['bucket in list', { order: { bucket: ['eu', 'us'] } }, order('1', { bucket: 'us' }), true],
    ['bucket missing', { order: { bucket: 'eu' } }, order('1', {}), false],
    ['field equals', { order: { fields: { status: 'paid' } } }, order('1', { status: 'paid' }), true],
    ['field equals is strict', { order: { fields: { customerId: 1 } } }, order('1', { customerId: '1' }), false],
    ['field in', { order: { fields: { status: { in: ['paid', 'shipped'] } } } }, order('1', { status: 'shipped' }), true],
    ['field null', { order: { fields: { bucket: null } } }, order('1', { bucket: null }), true],
    [
      'AND of all conditions',
      { order: { ids: [1], bucket: 'eu', fields: { status: 'paid' } } },
      order('1', { bucket: 'eu', status: 'new' }),
      false,
    ],
  ])('%s', (_name, filters, subject, expected) => {
    expect(passesCompiled(compileFilters(filters), subject)).toBe(expected);
  });

  it('marks invalid stored filters as broken, so they match nothing', () => {
    const broken = compileFilters({ order: { fields: { status: { in: 'x' } } } });
    expect(broken).toMatchObject({ broken: expect.stringContaining('filters.order.fields.status') });
    expect(passesCompiled(broken, order('1', { status: 'x' }))).toBe(false);
  });

  it('applies only ids to a custom topic under an entity prefix', () => {
    const filters = compileFilters({ order: { ids: [1], bucket: 'eu' } });
    expect(passesCompiled(filters, { ...order('1', { reason: 'late' }), idsOnly: true })).toBe(true);
    expect(passesCompiled(filters, { ...order('2', {}), idsOnly: true })).toBe(false);
  });

  it('explains every problem', () => {
    const fieldsOf = (p: string) => (p === 'order' ? ['id', 'status', 'bucket'] : p === 'report' ? undefined : null);
    expect(filtersProblems({ order: { bucket: 'eu' }, report: { fields: { anything: 1 } } }, fieldsOf)).toEqual([]);
    expect(filtersProblems([1], fieldsOf)[0]).toContain('must be an object');
    expect(filtersProblems({ order: {} }, fieldsOf)).toEqual(['filters.order is empty']);
    expect(filtersProblems({ order: { ids: [] } }, fieldsOf)[0]).toContain('ids must be a non-empty list');
    expect(filtersProblems({ order: { fields: { total: 1 } } }, fieldsOf)[0]).toContain('no such field');
    expect(filtersProblems({ order: { fields: { status: { in: 'paid' } } } }, fieldsOf)[0]).toContain('{"in": [values]}');
    expect(filtersProblems({ order: { fields: { status: { eq: 'paid' } } } }, fieldsOf)[0]).toContain('{"in": [values]}');
    expect(filtersProblems({ ghost: { ids: [1] } }, fieldsOf)[0]).toContain('"ghost" is not an entity');
  });
});
