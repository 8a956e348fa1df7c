'use strict';
/* The script workerpool forks for each worker: one method, the kit. */
const ca = require('./chaos_adapter');
const kit = ca.kit();

ca.pool('workerpool').worker({ run: (id) => kit.run(id) });
