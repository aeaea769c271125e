/* Executes a permanently undefined instruction: SIGILL (status 132). */
int main(void) {
    __asm__ volatile(".inst 0x00000000");
    return 0;
}
