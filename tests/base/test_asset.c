/* tests/base/test_asset.c: the generated table is sorted and lookups work. */
#include <string.h>

#include <criterion/criterion.h>

#include "base/asset.h"

Test(asset, table_is_sorted_and_findable)
{
    for (size_t i = 0; i < base_asset_count(); i++) {
        const base_asset *a = base_asset_at(i);
        cr_assert_not_null(a);
        cr_assert_eq(a->data[a->size], 0, "assets are NUL-terminated");
        cr_assert_eq(base_asset_find(a->name), a);
        if (i > 0)
            cr_assert_lt(strcmp(base_asset_at(i - 1)->name, a->name), 0);
    }
    cr_expect_null(base_asset_find("no/such/asset"));
    cr_expect_null(base_asset_at(base_asset_count()));
}
