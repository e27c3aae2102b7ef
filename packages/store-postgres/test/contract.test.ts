import { requirePostgres, storageContract, withPostgresSchemas } from '@bulwark/testkit';
import { openPostgresStorage } from '@bulwark/store-postgres';

// Each open() gets its own schema so suites (and parallel runs) never see each other's rows.
const skip = await requirePostgres();
const schemas = withPostgresSchemas();

storageContract(
  'postgres',
  () => openPostgresStorage({ url: schemas.url, schema: schemas.next(), max: 4 }),
  { skip },
);
