#!/bin/sh
# Runs test_resume.py with Python 3; skipped (77) where there is none.
# Usage: test_resume.sh NFI_EXECUTABLE
here=$(dirname "$0")
for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1; then
        exec "$py" "$here/test_resume.py" "$@"
    fi
done
echo "no python3: skipped"
exit 77
