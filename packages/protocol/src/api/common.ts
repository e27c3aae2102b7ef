import { Type, type TSchema } from '@sinclair/typebox';

/** A UUID string (Bulwark ids are UUIDv7). */
export const Id = Type.String({ format: 'uuid', description: 'A Bulwark id (UUIDv7).' });
/** An RFC 3339 UTC timestamp. */
export const Timestamp = Type.String({ format: 'date-time' });
/** A nullable schema. */
export const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);
/** A short human name. */
export const Name = Type.String({ minLength: 1, maxLength: 200 });

/** Query parameters of every paginated list. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

/** A page of results; pass `nextCursor` as `cursor` to get the next one. */
export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object(
    { items: Type.Array(item), nextCursor: Nullable(Type.String()) },
    { additionalProperties: false },
  );

/** `{ id }` path parameter. */
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

/** RFC 9457 problem details. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { additionalProperties: true, $id: 'Problem' },
);

/** An empty object body (for POSTs that take no input). */
export const Empty = Type.Object({}, { additionalProperties: false });
