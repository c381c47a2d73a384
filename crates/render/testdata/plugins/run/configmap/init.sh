#!/bin/sh
# Runs before generate, in the app path: leaves a file there for generate to read.
set -eu
echo "init ran in $(basename "$PWD")" > init-output.txt
