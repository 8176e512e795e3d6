// The ProjectAccessToken provider a state refers to by name (see forward.js).
"use strict";
module.exports = require("./forward")("ProjectAccessToken");
