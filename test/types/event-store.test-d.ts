// Type tests of the embedded store's public API, as a consumer sees it: imports
// by package name, through package.json "exports", from the built declarations.
// Checked by tsc in `npm test` (vitest typecheck): `expectTypeOf` asserts a type,
// `@ts-expect-error` asserts that a call does not compile.
import { describe, expectTypeOf, test } from 'vitest';
import {
  ClosedError, ConflictError, ErrorCodes, EventStore, MetricStore, RingstoreError,
  type AppendResult, type AppendResults, type ErrorCode, type EventStoreBuilder, type StoreErrorCode, type EventStoreOptions, type StoreStats, type StoredEvent, type WindowAggregate,
} from 'ringstore';

interface Order {
  type: 'order' | 'refund';
  user: string;
  amount: number;
}

// The event type and the value names given together: queries accept only 'amount'.
const store = EventStore.create<Order, 'amount'>({ key: 'user', values: { amount: 'amount' }, window: { sizeMs: 60_000 } });
const order: Order = { type: 'order', user: 'ada', amount: 5 };

describe('EventStore options', () => {
  test('selectors are property paths or functions of the event', () => {
    expectTypeOf<EventStoreOptions<Order>>().toHaveProperty('key');
    EventStore.create<Order>({ key: (e) => e.user, timestamp: () => Date.now(), values: { amount: (e) => e.amount, one: 'amount' } });
    EventStore.builder<Order>();
  });
  test('wrong option types do not compile', () => {
    // @ts-expect-error capacity is a number
    EventStore.create<Order>({ capacity: 'big' });
    // @ts-expect-error a key selector returns a string or a number
    EventStore.create<Order>({ key: (e) => e.amount > 1 });
    // @ts-expect-error a value selector returns a number
    EventStore.create<Order>({ values: { amount: (e) => e.user } });
    // @ts-expect-error windows have a size
    EventStore.create<Order>({ window: { bucketMs: 1000 } });
  });
});

describe('EventStore appends', () => {
  test('tryAppend is synchronous; append resolves with one result per event', () => {
    expectTypeOf(store.tryAppend(order)).toEqualTypeOf<boolean>();
    expectTypeOf(store.append(order, { expectedVersion: 0, id: 'o-1' })).toEqualTypeOf<Promise<AppendResult>>();
    expectTypeOf(store.append([order, order])).toEqualTypeOf<Promise<AppendResult[]>>();
    const many: readonly Order[] = [order];
    expectTypeOf(store.append(many)).toEqualTypeOf<Promise<AppendResult[]>>();
    const either = order as Order | Order[];
    expectTypeOf(store.append(either)).toEqualTypeOf<Promise<AppendResult | AppendResult[]>>();
    expectTypeOf<AppendResults<Order>>().toEqualTypeOf<AppendResult>();
    expectTypeOf<AppendResult>().toEqualTypeOf<{ id: string; partition: number; position: number; version: number; duplicate: boolean }>();
  });
  test('only events of the store type are accepted', () => {
    // @ts-expect-error amount is a number
    store.tryAppend({ type: 'order', user: 'ada', amount: '5' });
    // @ts-expect-error the event needs its fields
    void store.append({ user: 'ada' });
    // @ts-expect-error each event of an array needs its fields
    void store.append([order, { user: 'ada' }]);
    // @ts-expect-error expectedVersion is a number
    void store.append(order, { expectedVersion: '1' });
  });
});

describe('EventStore queries', () => {
  test('answers', () => {
    expectTypeOf(store.count()).toEqualTypeOf<Promise<number>>();
    expectTypeOf(store.sum('amount', { where: { type: 'order' } })).toEqualTypeOf<Promise<number>>();
    expectTypeOf(store.min('amount')).toEqualTypeOf<Promise<number | null>>();
    expectTypeOf(store.top(3, 'amount')).toEqualTypeOf<Promise<{ key: string; value: number }[]>>();
    expectTypeOf(store.windowAggregate('amount')).toEqualTypeOf<Promise<WindowAggregate>>();
    expectTypeOf(store.snapshot({ limit: 10 })).toEqualTypeOf<Promise<StoredEvent<Order>[]>>();
    expectTypeOf(store.aggregate(0, (n, e) => n + e.payload.amount)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(store.stats).toEqualTypeOf<StoreStats>();
    expectTypeOf(store.close()).toEqualTypeOf<Promise<void>>();
  });
  test('query filters are typed', () => {
    // @ts-expect-error comparisons take numbers
    void store.count({ where: { values: { amount: { gte: 'ten' } } } });
    // @ts-expect-error a filter is a predicate on a stored event
    void store.count({ filter: (e: string) => e.length > 0 });
  });

  test('queries name only declared values', () => {
    // @ts-expect-error 'nope' is not a declared value
    void store.sum('nope');
    // @ts-expect-error 'nope' is not a declared value
    void store.average('nope');
    // @ts-expect-error 'nope' is not a declared value
    void store.min('nope');
    // @ts-expect-error 'nope' is not a declared value
    void store.max('nope');
    // @ts-expect-error 'nope' is not a declared value
    void store.groupBy('nope');
    // @ts-expect-error 'nope' is not a declared value
    void store.top(3, 'nope');
    // @ts-expect-error 'nope' is not a declared value
    void store.windowAggregate('nope');
    // @ts-expect-error where.values names declared values
    void store.count({ where: { values: { nope: { gt: 1 } } } });
    void store.count({ where: { values: { amount: { gt: 1 } } } });
  });
});

describe('value names inferred from the options', () => {
  test('with no type arguments, from the values object (and the event type from a typed selector)', () => {
    const prices = EventStore.create({ values: { price: 'price', qty: 'qty' } });
    expectTypeOf(prices).toEqualTypeOf<EventStore<unknown, 'price' | 'qty'>>();
    expectTypeOf(prices.sum('price')).toEqualTypeOf<Promise<number>>();
    void prices.sum('qty');
    // @ts-expect-error 'nope' is not a declared value
    void prices.sum('nope');

    const typed = EventStore.create({ key: 'user', values: { amount: (e: Order) => e.amount } });
    expectTypeOf(typed).toEqualTypeOf<EventStore<Order, 'amount'>>();
    // @ts-expect-error the event type came from the selector
    typed.tryAppend({ user: 'ada' });
    // @ts-expect-error 'user' is not a declared value
    void typed.sum('user');
  });
  test('open infers them the same way', () => {
    expectTypeOf(EventStore.open({ values: { price: 'price' } })).toEqualTypeOf<Promise<EventStore<unknown, 'price'>>>();
  });
  test('the builder collects the names given to withValue', () => {
    const built = EventStore.builder<Order>().withKey('user').withValue('amount', 'amount').withValue('double', (e) => e.amount * 2).withCapacity(64).create();
    expectTypeOf(built).toEqualTypeOf<EventStore<Order, 'amount' | 'double'>>();
    void built.sum('double');
    // @ts-expect-error 'nope' was not given to withValue
    void built.sum('nope');
    // No value declared: no name is accepted.
    expectTypeOf(EventStore.builder<Order>().create()).toEqualTypeOf<EventStore<Order, never>>();
    expectTypeOf(EventStore.builder<Order>()).toEqualTypeOf<EventStoreBuilder<Order, never>>();
  });
  test('with the event type alone, TypeScript infers no names: any string compiles (checked at run time)', () => {
    const loose = EventStore.create<Order>({ values: { amount: 'amount' } });
    expectTypeOf(loose).toEqualTypeOf<EventStore<Order, string>>();
    void loose.sum('nope');
  });
  test('the names given must match the values object', () => {
    // @ts-expect-error 'qty' is named but not declared
    EventStore.create<Order, 'amount' | 'qty'>({ values: { amount: 'amount' } });
    // @ts-expect-error 'extra' is declared but not named
    EventStore.create<Order, 'amount'>({ values: { amount: 'amount', extra: 'amount' } });
  });
  test('a store with known names is still an EventStore<T> where one is expected', () => {
    const wide: EventStore<Order> = store;
    expectTypeOf(wide.sum('anything')).toEqualTypeOf<Promise<number>>();
  });
});

describe('MetricStore', () => {
  test('adds and answers synchronously', () => {
    const m = MetricStore.create({ capacity: 1024 });
    expectTypeOf(m.add('cpu', 0.5)).toEqualTypeOf<void>();
    expectTypeOf(m.sum('cpu', { from: 0 })).toEqualTypeOf<number>();
    expectTypeOf(m.max('cpu')).toEqualTypeOf<number | null>();
    // @ts-expect-error values are numbers
    m.add('cpu', '0.5');
  });
});

describe('errors', () => {
  test('every error is a RingstoreError with a code; conflicts carry versions', () => {
    expectTypeOf<ConflictError>().toExtend<RingstoreError>();
    expectTypeOf<ClosedError>().toExtend<RingstoreError>();
    expectTypeOf<RingstoreError['code']>().toExtend<string>();
    expectTypeOf<ConflictError>().toExtend<{ key: string; expected: number; actual: number }>();
  });
  test('code is the union of the one table\'s codes; the store\'s codes are a part of it', () => {
    expectTypeOf<RingstoreError['code']>().toEqualTypeOf<ErrorCode>();
    expectTypeOf<'RS_ERR_CONFLICT'>().toExtend<StoreErrorCode>();
    expectTypeOf<'RS_ERR_STORE_BACKEND'>().toExtend<ErrorCode>();
    expectTypeOf<'RS_ERR_STORE_BACKEND'>().not.toExtend<StoreErrorCode>();
    expectTypeOf<keyof typeof ErrorCodes>().toEqualTypeOf<StoreErrorCode>();
    const e = new RingstoreError('RS_ERR_CONFLICT', 'm');
    if (e.code === 'RS_ERR_CLOSED') expectTypeOf(e.code).toEqualTypeOf<'RS_ERR_CLOSED'>();
    // @ts-expect-error a code that is not in the table
    void new RingstoreError('RS_ERR_TYPO', 'm');
    // @ts-expect-error a comparison with a code that does not exist cannot be true
    if (e.code === 'RS_ERR_CONFLICTS') void e;
  });
});
