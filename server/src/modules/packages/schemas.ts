// Shapes of packages and their files, wire-compatible with rndflow ServerProxy.
import { Type } from 'typebox';
import { IdParam, Instant, Nullable, Page } from '../../lib/http.js';

/** Ids in JSON bodies: a number, or a string of digits (values read from secrets are strings). */
const IdLike = Type.Union([IdParam, Type.String({ pattern: '^[1-9][0-9]{0,9}$' })]);
const Flag = Type.Union([Type.Boolean(), Type.Integer({ minimum: 0, maximum: 1 })]);
/** Package fields as given: any JSON object, kept in insertion order. */
const JsonObject = Type.Record(Type.String(), Type.Unknown());

const FileRef = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 1000 }),
  content_hash: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }),
  size: Type.Optional(Type.Integer({ minimum: 0 })),
  type: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  is_executable: Type.Optional(Flag),
  is_binary: Type.Optional(Flag),
});

export const PackageBody = Type.Object({
  label: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
  fields: Type.Optional(Nullable(JsonObject)),
  files: Type.Optional(Type.Array(FileRef, { maxItems: 1000 })),
  parent_ids: Type.Optional(Type.Array(IdLike, { maxItems: 1000 })),
  data_layer_id: Type.Optional(IdLike),
});

export const SearchBody = Type.Object({
  master_id: Type.Optional(Nullable(IdLike)),
  label: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
  after_id: Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]{1,10}$' }), Type.Null()]),
  ),
  data_layer_id: Type.Optional(Nullable(IdLike)),
});

export const NodeParams = Type.Object({ p: IdParam, n: IdParam });
export const PackageParams = Type.Object({ p: IdParam, n: IdParam, id: IdParam });
export const LayerQuery = Type.Object({ data_layer_id: Type.Optional(IdParam) });
export const SearchQuery = Type.Object({
  data_layer_id: Type.Optional(IdParam),
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  page_size: Type.Integer({ minimum: 1, default: 10, description: 'larger values are capped at 100, not refused' }),
});

export const FileMeta = Type.Object({
  name: Type.String(),
  content_hash: Type.String({ description: 'sha256, lower-case hex' }),
  size: Type.Integer(),
  type: Type.String(),
  is_executable: Type.Boolean(),
  is_binary: Type.Boolean(),
});
const PackageCore = {
  id: Type.Integer(),
  project_id: Type.Integer(),
  node_id: Type.Integer(),
  data_layer_id: Type.Integer(),
  label: Type.String(),
  master_id: Type.Integer(),
  parent_ids: Type.Array(Type.Integer()),
  /** values are whatever JSON the package was created with */
  fields: Type.Array(Type.Object({ name: Type.String(), value: Type.Unknown() })),
  created_at: Instant,
};
export const PackageSummary = Type.Object(PackageCore);
export const Package = Type.Object({ ...PackageCore, files: Type.Array(FileMeta) });
export const PackagePage = Page(PackageSummary);
export const FileLinks = Type.Array(
  Type.Object({
    ...FileMeta.properties,
    content: Type.String({ description: 'absolute signed, expiring download URL; needs no Authorization header' }),
  }),
);
