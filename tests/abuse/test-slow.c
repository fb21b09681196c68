#include <criterion/criterion.h>
#include "abuse-util.h"
Test(stub, slow, .timeout = 5) { }
