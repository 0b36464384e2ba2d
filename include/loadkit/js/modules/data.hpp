#pragma once
// k6/data: SharedArray, written in JavaScript in the prelude (one array per
// realm and name, deeply frozen); it needs no native, so its row in the
// table (modules.hpp) has no install function. A native part would go here.
