/* The run directory (sim/trace/rundir.h): creation of new, nested and
 * empty directories; refusal of non-empty ones without force and of
 * non-run directories even with force; force deleting nfi's files and
 * only those (unrelated files, folders and link targets stay); the lock
 * against a second handle and a second process; the status file's
 * format and its allowed changes; paths inside the directory.
 *
 * Why: a mistyped --force must never cost a user files nfi did not
 * write, two runs must never interleave in one directory, and tools
 * decide from `head -1 status` whether a run finished. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "trace/rundir.h"
#include "trace_util.h"

static char *dir;

/* dir/name into buf (4096 bytes): run directories are named many times
 * in a check, more than path_in's rotating buffers allow. */
static void in_dir(char *buf, const char *name)
{
    snprintf(buf, 4096, "%s/%s", dir, name);
}

static bool contains(const char *message, const char *needle)
{
    return strstr(message, needle) != NULL;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The status file holds exactly "STATE\nREASON\n". */
static bool status_is(const char *run, const char *state, const char *reason)
{
    char expected[1000];
    snprintf(expected, sizeof expected, "%s\n%s\n", state, reason);
    return file_equals(path_in(run, "status"), expected, strlen(expected));
}

static void check_create(void)
{
    nfi_error err = {""};
    char run[4096];
    in_dir(run, "runs/a/first");
    nfi_rundir *rd = nfi_rundir_create(run, false, &err);
    if (!check_true(rd != NULL, "create a nested new run: %s", err.message))
        return;
    check_true(status_is(run, "running", "started") &&
               is_dir(path_in(run, "snapshots")) && dir_count(run, NULL) == 2,
               "a new run holds status and snapshots/");
    check_true(nfi_rundir_status(rd) == NFI_RUN_RUNNING &&
               strcmp(nfi_rundir_path(rd), run) == 0, "handle state");
    nfi_rundir_close(rd);

    /* An existing empty directory is used. */
    char empty[4096];
    in_dir(empty, "empty");
    mkdir(empty, 0700);
    rd = nfi_rundir_create(empty, false, &err);
    check_true(rd != NULL && status_is(empty, "running", "started"),
               "an empty directory: %s", err.message);
    nfi_rundir_close(rd);

    /* A trailing slash is the same directory. */
    char slashed[4096];
    in_dir(slashed, "slashed/");
    rd = nfi_rundir_create(slashed, false, &err);
    char file[4096];
    check_true(rd != NULL && nfi_rundir_file(rd, "config.json", file,
                                             sizeof file, &err) == 0 &&
               strcmp(file, path_in(dir, "slashed/config.json")) == 0,
               "a trailing slash: %s (%s)", file, err.message);
    nfi_rundir_close(rd);

    check_true(nfi_rundir_create("", false, &err) == NULL &&
               contains(err.message, "empty name"), "empty path: \"%s\"",
               err.message);
    const char *plain = path_in(dir, "a_file");
    file_write(plain, "x", 1);
    check_true(nfi_rundir_create(plain, true, &err) == NULL &&
               contains(err.message, plain) &&
               contains(err.message, "not a directory"), "a file as run "
               "directory: \"%s\"", err.message);
    const char *under = path_in(dir, "a_file/run");
    check_true(nfi_rundir_create(under, false, &err) == NULL &&
               contains(err.message, "not a directory"), "a file on the "
               "way: \"%s\"", err.message);
    check_true(file_equals(plain, "x", 1), "the file is untouched");
}

static void check_refusals(void)
{
    nfi_error err = {""};
    /* An earlier run, without force. */
    char run[4096];
    in_dir(run, "runs/a/first");
    file_write(path_in(run, "config.json"), "{}\n", 3);
    check_true(nfi_rundir_create(run, false, &err) == NULL &&
               contains(err.message, run) &&
               contains(err.message, "not empty") &&
               contains(err.message, "force"), "an earlier run without "
               "force: \"%s\"", err.message);
    check_true(file_equals(path_in(run, "config.json"), "{}\n", 3) &&
               status_is(run, "running", "started"), "the refused run "
               "directory is untouched");

    /* A folder that is not a run directory, even with force. */
    char home[4096];
    in_dir(home, "home");
    mkdir(home, 0700);
    file_write(path_in(home, "config.json"), "mine", 4);
    file_write(path_in(home, "notes.txt"), "notes", 5);
    for (int force = 0; force < 2; force++) {
        check_true(nfi_rundir_create(home, force, &err) == NULL &&
                   contains(err.message, home) && (force == 0 ||
                   contains(err.message, "not an nfi run directory")),
                   "a foreign folder, force %d: \"%s\"", force, err.message);
    }
    check_true(file_equals(path_in(home, "config.json"), "mine", 4) &&
               file_equals(path_in(home, "notes.txt"), "notes", 5) &&
               dir_count(home, NULL) == 2, "the foreign folder is "
               "untouched");

    /* A status file that does not read back is not a run's. */
    file_write(path_in(home, "status"), "done\n", 5);
    check_true(nfi_rundir_create(home, true, &err) == NULL &&
               contains(err.message, "not an nfi run directory"),
               "a foreign status file: \"%s\"", err.message);
    check_true(nfi_rundir_open(home, &err) == NULL &&
               contains(err.message, "not an nfi run directory"),
               "open of a foreign folder: \"%s\"", err.message);
    nfi_run_status s;
    check_true(nfi_status_read(home, &s, NULL, 0, &err) == -1 &&
               contains(err.message, path_in(home, "status")),
               "read of a foreign status: \"%s\"", err.message);
    check_true(file_equals(path_in(home, "config.json"), "mine", 4),
               "still untouched");
    check_true(nfi_rundir_open(path_in(dir, "nowhere"), &err) == NULL &&
               contains(err.message, "nowhere") &&
               contains(err.message, strerror(ENOENT)), "open of a missing "
               "directory: \"%s\"", err.message);
}

static void check_force(void)
{
    nfi_error err = {""};
    char run[4096];
    in_dir(run, "forced");
    nfi_rundir *rd = nfi_rundir_create(run, false, &err);
    char path[4096];
    /* The files of a run... */
    static const char *const nfi_files[] = {
        "config.json", "metrics.csv", "summary.json",
        ".nfi-tmp-99-0-metrics.csv",
        "snapshots/step_00000001/W.npy", "snapshots/step_00000001/W.json",
        "snapshots/step_00000002/W.npy",
        "snapshots/step_00000002/.nfi-tmp-99-1-W.npy",
    };
    for (size_t i = 0; i < sizeof nfi_files / sizeof nfi_files[0]; i++) {
        if (strncmp(nfi_files[i], "snapshots/", 10) == 0) {
            const char *name = strrchr(nfi_files[i], '/') + 1;
            int64_t step = nfi_files[i][22] - '0';
            if (name[0] == '.') {
                file_write(path_in(run, nfi_files[i]), "t", 1);
                continue;
            }
            nfi_rundir_snapshot_file(rd, step, name, path, sizeof path,
                                     &err);
            file_write(path, "n", 1);
        } else {
            file_write(path_in(run, nfi_files[i]), "n", 1);
        }
    }
    /* ... and files the user put there, a link into another folder and
     * a folder where a file of nfi's would go. */
    static const char *const user_files[] = {
        "notes.txt", "snapshots/step_00000001/readme.txt",
        "snapshots/mine/x.npy", "snapshots/plot.png",
    };
    mkdir(path_in(run, "snapshots/mine"), 0700);
    for (size_t i = 0; i < sizeof user_files / sizeof user_files[0]; i++)
        file_write(path_in(run, user_files[i]), "u", 1);
    char outside[4096];
    in_dir(outside, "outside");
    mkdir(outside, 0700);
    file_write(path_in(outside, "keep.npy"), "k", 1);
    check_true(symlink(outside, path_in(run, "snapshots/step_00000003"))
               == 0, "symlink set-up");
    nfi_rundir_set_status(rd, NFI_RUN_FAILED, "diverged", &err);
    nfi_rundir_close(rd);

    rd = nfi_rundir_create(run, true, &err);
    if (!check_true(rd != NULL, "force on an earlier run: %s", err.message))
        return;
    for (size_t i = 0; i < sizeof nfi_files / sizeof nfi_files[0]; i++)
        check_true(!path_exists(path_in(run, nfi_files[i])), "force left "
                   "%s", nfi_files[i]);
    for (size_t i = 0; i < sizeof user_files / sizeof user_files[0]; i++)
        check_true(file_equals(path_in(run, user_files[i]), "u", 1),
                   "force removed the user's %s", user_files[i]);
    check_true(!path_exists(path_in(run, "snapshots/step_00000002")) &&
               is_dir(path_in(run, "snapshots/step_00000001")),
               "an emptied step folder goes, one with a user's file stays");
    check_true(file_equals(path_in(outside, "keep.npy"), "k", 1) &&
               path_exists(path_in(run, "snapshots/step_00000003")),
               "a linked step folder is not followed");
    check_true(status_is(run, "running", "started, replacing an earlier "
                         "run"), "the new status");
    nfi_rundir_close(rd);

    /* A directory where nfi writes a file stops force with a message. */
    mkdir(path_in(run, "metrics.csv"), 0700);
    check_true(nfi_rundir_create(run, true, &err) == NULL &&
               contains(err.message, "metrics.csv") &&
               contains(err.message, "is a directory"), "a folder named "
               "metrics.csv: \"%s\"", err.message);
    check_true(is_dir(path_in(run, "metrics.csv")) &&
               file_equals(path_in(run, "notes.txt"), "u", 1),
               "it stays, as does everything else");
    rmdir(path_in(run, "metrics.csv"));
}

static void check_lock(void)
{
    nfi_error err = {""};
    char run[4096];
    in_dir(run, "locked");
    nfi_rundir *rd = nfi_rundir_create(run, false, &err);
    check_true(nfi_rundir_open(run, &err) == NULL &&
               contains(err.message, "in use") &&
               contains(err.message, run), "a second handle: \"%s\"",
               err.message);
    check_true(nfi_rundir_create(run, true, &err) == NULL &&
               contains(err.message, "in use"), "force on a run in use: "
               "\"%s\"", err.message);
    check_true(status_is(run, "running", "started"), "the run in use is "
               "untouched");

    /* Another process. */
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        nfi_error child_err;
        nfi_rundir *other = nfi_rundir_open(run, &child_err);
        _exit(other == NULL && strstr(child_err.message, "in use") != NULL
              ? 0 : 1);
    }
    int wstatus = 0;
    waitpid(child, &wstatus, 0);
    check_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "another "
               "process is refused the lock");

    /* Released on close; a crashed run (status running, no lock) opens. */
    nfi_rundir_close(rd);
    rd = nfi_rundir_open(run, &err);
    check_true(rd != NULL && nfi_rundir_status(rd) == NFI_RUN_RUNNING,
               "open after close: %s", err.message);
    nfi_rundir_close(rd);
}

static void check_status(void)
{
    nfi_error err = {""};
    char run[4096];
    in_dir(run, "states");
    nfi_rundir *rd = nfi_rundir_create(run, false, &err);
    static const struct {
        nfi_run_status to;
        const char *reason;
        bool allowed;
        const char *state;
    } steps[] = {
        {NFI_RUN_RUNNING, "step 100 of 1000", true, "running"},
        {NFI_RUN_INTERRUPTED, "SIGINT at step 150", true, "interrupted"},
        {NFI_RUN_COMPLETE, "x", false, "interrupted"},
        {NFI_RUN_FAILED, "x", false, "interrupted"},
        {NFI_RUN_INTERRUPTED, "x", false, "interrupted"},
        {NFI_RUN_RUNNING, "resumed from step 100", true, "running"},
        {NFI_RUN_COMPLETE, "1000 steps", true, "complete"},
        {NFI_RUN_FAILED, "x", false, "complete"},
        {NFI_RUN_RUNNING, "extended to 2000 steps", true, "running"},
        {NFI_RUN_FAILED, "NaN loss at step 1234", true, "failed"},
        {NFI_RUN_COMPLETE, "x", false, "failed"},
        {NFI_RUN_RUNNING, NULL, true, "running"},
    };
    const char *last_reason = "started";
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *before = nfi_run_status_name(nfi_rundir_status(rd));
        int status = nfi_rundir_set_status(rd, steps[i].to, steps[i].reason,
                                           &err);
        if (steps[i].allowed) {
            last_reason = steps[i].reason != NULL ? steps[i].reason : "";
            check_true(status == 0, "%s -> %s: %s", before,
                       nfi_run_status_name(steps[i].to), err.message);
        } else {
            check_true(status == -1 && contains(err.message, before) &&
                       contains(err.message,
                                nfi_run_status_name(steps[i].to)),
                       "%s -> %s must be refused: \"%s\"", before,
                       nfi_run_status_name(steps[i].to), err.message);
        }
        check_true(status_is(run, steps[i].state, last_reason),
                   "status file after step %zu", i);
        nfi_run_status read = (nfi_run_status)-1;
        char reason[NFI_STATUS_REASON_MAX + 1];
        check_true(nfi_status_read(run, &read, reason, sizeof reason, &err)
                   == 0 && strcmp(nfi_run_status_name(read),
                                  steps[i].state) == 0 &&
                   strcmp(reason, last_reason) == 0, "status read back "
                   "after step %zu: %s", i, err.message);
    }

    /* Newlines and controls become spaces; long reasons are cut on a
     * character boundary. */
    nfi_rundir_set_status(rd, NFI_RUN_RUNNING, "line one\nline\ttwo\r", &err);
    check_true(status_is(run, "running", "line one line two "), "a reason "
               "of several lines");
    char *long_reason = malloc(3 * 300 + 1);
    for (int i = 0; i < 300; i++)
        memcpy(long_reason + 2 * i, "\xc3\xa9", 2);
    long_reason[600] = '\0';
    nfi_rundir_set_status(rd, NFI_RUN_FAILED, long_reason, &err);
    char reason[1000];
    nfi_run_status read;
    nfi_status_read(run, &read, reason, sizeof reason, &err);
    check_true(read == NFI_RUN_FAILED && strlen(reason) == 400 &&
               strncmp(reason, long_reason, 400) == 0, "a long reason is cut "
               "to %zu bytes", strlen(reason));
    /* 399 bytes, then a character of two that the cut would split. */
    memset(long_reason, 'a', 399);
    memcpy(long_reason + 399, "\xc3\xa9", 3);
    nfi_rundir_set_status(rd, NFI_RUN_RUNNING, long_reason, &err);
    nfi_status_read(run, &read, reason, sizeof reason, &err);
    check_true(strlen(reason) == 399, "a cut before a two-byte character: "
               "%zu bytes", strlen(reason));
    free(long_reason);

    check_true(nfi_rundir_set_status(rd, (nfi_run_status)9, "x", &err) == -1
               && contains(err.message, "unknown run state 9"), "a bad "
               "state: \"%s\"", err.message);
    nfi_run_status parsed;
    check_true(nfi_run_status_parse("complete", &parsed, &err) == 0 &&
               parsed == NFI_RUN_COMPLETE &&
               nfi_run_status_parse("done", &parsed, &err) == -1 &&
               contains(err.message, "\"done\""), "state names");
    check_true(nfi_run_status_name((nfi_run_status)4) == NULL, "name out of "
               "range");
    nfi_rundir_close(rd);

    /* The status of a run that was reopened is the file's. */
    rd = nfi_rundir_open(run, &err);
    check_true(rd != NULL && nfi_rundir_status(rd) == NFI_RUN_RUNNING,
               "reopened state");
    nfi_rundir_close(rd);
    nfi_rundir_close(NULL);
}

static void check_paths(void)
{
    nfi_error err = {""};
    char run[4096];
    in_dir(run, "paths");
    nfi_rundir *rd = nfi_rundir_create(run, false, &err);
    char buf[4096];
    check_true(nfi_rundir_file(rd, NFI_RUNDIR_METRICS, buf, sizeof buf,
                               &err) == 0 &&
               strcmp(buf, path_in(run, "metrics.csv")) == 0, "metrics "
               "path: %s", buf);
    check_true(nfi_rundir_file(rd, "snapshots/x", buf, sizeof buf, &err)
               == 0, "a relative path inside");
    static const char *const bad[] = {"", "/etc/passwd", "../x", "a/../b",
                                      "..", "snapshots/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_true(nfi_rundir_file(rd, bad[i], buf, sizeof buf, &err) == -1
                   && contains(err.message, run), "name \"%s\": \"%s\"",
                   bad[i], err.message);
    check_true(nfi_rundir_file(rd, "..hidden", buf, sizeof buf, &err) == 0,
               "a name starting with .. is inside");
    check_true(nfi_rundir_file(rd, "metrics.csv", buf, 8, &err) == -1 &&
               contains(err.message, "buffer"), "a short buffer: \"%s\"",
               err.message);

    check_true(nfi_rundir_snapshot_file(rd, 100, "W.npy", buf, sizeof buf,
                                        &err) == 0 &&
               strcmp(buf, path_in(run, "snapshots/step_00000100/W.npy"))
               == 0 && is_dir(path_in(run, "snapshots/step_00000100")),
               "snapshot path %s (%s)", buf, err.message);
    check_true(nfi_rundir_snapshot_file(rd, 100, "b-1.json", buf,
                                        sizeof buf, &err) == 0, "a second "
               "file of the same step");
    check_true(nfi_rundir_snapshot_file(rd, 123456789012, "W.npy", buf,
                                        sizeof buf, &err) == 0 &&
               contains(buf, "/snapshots/step_123456789012/W.npy"),
               "a step of 12 digits: %s", buf);
    static const char *const bad_names[] = {"", ".hidden", "a/b", "a b",
                                            "../W.npy"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        check_true(nfi_rundir_snapshot_file(rd, 1, bad_names[i], buf,
                                            sizeof buf, &err) == -1 &&
                   contains(err.message, "snapshot file name"),
                   "snapshot name \"%s\": \"%s\"", bad_names[i],
                   err.message);
    check_true(nfi_rundir_snapshot_file(rd, -1, "W.npy", buf, sizeof buf,
                                        &err) == -1 &&
               contains(err.message, "step -1"), "a negative step: \"%s\"",
               err.message);
    check_true(!path_exists(path_in(run, "snapshots/step_00000001")),
               "refused names create no folder");
    nfi_rundir_close(rd);
}

int main(void)
{
    harness_init("test_rundir", 1);
    dir = temp_dir_make("rundir");
    check_create();
    check_refusals();
    check_force();
    check_lock();
    check_status();
    check_paths();
    temp_dir_remove(dir);
    return harness_finish();
}
