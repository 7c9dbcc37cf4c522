//! netlab: labs of Linux network namespaces that reproduce Docker's networking.
