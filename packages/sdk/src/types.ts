import type { OperationId, OperationInput, OperationOutput } from '@bulwark/protocol';

/** The arguments of `call(op, …)`: the input is optional when the operation needs none. */
export type CallArgs<Op extends OperationId> =
  object extends OperationInput<Op> ? [input?: OperationInput<Op>] : [input: OperationInput<Op>];

/** The typed, ROUTES-driven request function every resource wrapper is built on. */
export type Call = <Op extends OperationId>(
  op: Op,
  ...args: CallArgs<Op>
) => Promise<OperationOutput<Op>>;

/** An operation's JSON body type. */
export type BodyOf<Op extends OperationId> =
  OperationInput<Op> extends { body: infer B } ? B : never;

/** An operation's query type (without the optional marker). */
export type QueryOf<Op extends OperationId> =
  OperationInput<Op> extends { query?: infer Q } ? NonNullable<Q> : never;
