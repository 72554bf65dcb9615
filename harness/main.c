/* clay-harness: placeholder until the subcommands land. */
#include <stdio.h>
int main(void)
{
    puts("clay-harness");
    return 0;
}
