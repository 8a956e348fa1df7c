'use strict';
/* The module jest-worker loads in each child: one exposed method, the kit. */
const kit = require('./chaos_adapter').kit();

exports.run = (id) => kit.run(id);
