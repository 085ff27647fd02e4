from threatgraph import Model

import threatgraph_helpers_that_do_not_exist  # noqa: F401

m = Model("Missing import")
