# What `sam build` runs for the parts built per architecture: the dependencies layer and the
# importer's function. Their ContextPath in template.yaml is bundle/architectures/${Architecture},
# whose Makefile is a link to this file: a makefile build is told no architecture, so the
# folder's name says it. The project's Makefile does the rest.
ARCHITECTURE_BUILT := $(notdir $(patsubst %/,%,$(dir $(firstword $(MAKEFILE_LIST)))))

build-DependenciesLayer:
	$(MAKE) --no-print-directory --makefile Makefile build-layer ARCHITECTURE_BUILT=$(ARCHITECTURE_BUILT)

build-ImportFunction:
	$(MAKE) --no-print-directory --makefile Makefile build-importer ARCHITECTURE_BUILT=$(ARCHITECTURE_BUILT)
