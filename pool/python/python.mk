# The Python binding (pool/python, package `safepool`): `make python` builds
# it into $(B)/python/safepool, where tests and the safepool-py adapter find
# it (PYTHONPATH=$(B)/python). The C layer links the PIC objects of the same
# libsafepool build. `pip install --no-build-isolation pool/python` builds
# the same package with setuptools instead (pool/python/setup.py).
PYTHON  ?= /usr/bin/python3
PY_INC  := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_paths()['include'])" 2>/dev/null)
PY_EXT  := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))" 2>/dev/null)
PY_PKG  := $(B)/python/safepool
comma   := ,
PY_SRCS := $(wildcard pool/python/safepool/*.py)
PY_OBJ  := $(B)/pic/pool/python/_safepool.o
PY_MOD  := $(PY_PKG)/_safepool$(PY_EXT)
DEPS    += $(PY_OBJ:.o=.d)

.PHONY: python
python: $(PY_MOD) $(PY_SRCS:pool/python/safepool/%=$(PY_PKG)/%)

# Python's headers are system headers here, so -Werror applies to ours only.
$(PY_OBJ): override CFLAGS += -isystem $(PY_INC)

# An extension leaves the interpreter's symbols undefined on purpose, so
# the shared -Wl,-z,defs is not used for it.
$(PY_MOD): $(PY_OBJ) $(POOL_PIC)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Wl$(comma)-z$(comma)defs,$(LDFLAGS)) -shared -o $@ $^

$(PY_PKG)/%.py: pool/python/safepool/%.py
	@mkdir -p $(dir $@)
	cp $< $@

# Part of every build where Python's headers are installed, so that `make
# demo` finds the safepool-py target's module; without them only `make
# python` (and `make check`, which runs the binding's tests) asks for them.
ifneq ($(wildcard $(PY_INC)/Python.h),)
ALL_BINS += $(PY_MOD) $(PY_SRCS:pool/python/safepool/%=$(PY_PKG)/%)
endif
