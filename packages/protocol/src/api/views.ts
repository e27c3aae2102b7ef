import { Type, type Static } from '@sinclair/typebox';
import { Id, Timestamp } from './common.js';
import { DeviceListQuery } from './devices.js';

const {
  limit: _limit,
  cursor: _cursor,
  offset: _offset,
  ...filterFields
} = DeviceListQuery.properties;

/** What a saved view keeps: the fleet's filters and sort (`GET /devices` without paging). */
export const SavedViewQuery = Type.Object(filterFields, { additionalProperties: false });
export type SavedViewQuery = Static<typeof SavedViewQuery>;

const ViewName = Type.String({ pattern: '^\\S(.{0,62}\\S)?$', description: '1–64 characters.' });

export const SaveViewRequest = Type.Object(
  { name: ViewName, query: SavedViewQuery },
  { additionalProperties: false },
);
export type SaveViewRequest = Static<typeof SaveViewRequest>;

/** A named fleet filter of one user (or API key), theirs alone. */
export const SavedViewSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    query: SavedViewQuery,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SavedViewView = Static<typeof SavedViewSchema>;

/** The most views one user keeps per organization (a bound on a list the console shows whole). */
export const MAX_SAVED_VIEWS = 50;
