/* clay-function: placeholder until the serve skeleton lands. */
#include <stdio.h>
int main(void)
{
    puts("clay-function");
    return 0;
}
