# What `sam build` runs for the dependencies layer. template.yaml's ContextPath for the layer is
# bundle/architectures/${Architecture}, whose Makefile is a link to this file: a makefile build
# is told no architecture, so the folder's name says it. The project's Makefile does the rest.
LAYER_ARCHITECTURE := $(notdir $(patsubst %/,%,$(dir $(firstword $(MAKEFILE_LIST)))))

build-DependenciesLayer:
	$(MAKE) --no-print-directory --makefile Makefile build-layer LAYER_ARCHITECTURE=$(LAYER_ARCHITECTURE)
