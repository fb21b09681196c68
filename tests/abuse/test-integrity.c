#include <criterion/criterion.h>
#include "abuse-util.h"
Test(stub, integrity, .timeout = 5) { }
