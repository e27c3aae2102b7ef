import { storageContract } from '@bulwark/testkit';
import { openSqliteStorage } from '@bulwark/store-sqlite';

storageContract('sqlite (:memory:)', () => openSqliteStorage({ path: ':memory:' }));
