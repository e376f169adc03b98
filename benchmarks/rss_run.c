/*
 * Launcher that measures a command's own peak RSS: rss_run OUTFILE CMD [ARGS...]
 *
 * Linux carries a process's peak RSS across exec, so a child forked straight from the
 * (large) benchmark harness would report the harness's size. This small program is
 * exec'd first; it forks the command from its own tiny image, waits for it, and writes
 * "maxrss_kb exit_code" to OUTFILE. Its exit status is the command's.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUTFILE CMD [ARGS...]\n", argv[0]);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 2;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(argv[1], "w");
    if (f) {
        fprintf(f, "%ld %d\n", ru.ru_maxrss, code);
        fclose(f);
    }
    return code;
}
