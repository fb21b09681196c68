#include <criterion/criterion.h>
#include "abuse-util.h"
Test(stub, fdlimit, .timeout = 5) { }
