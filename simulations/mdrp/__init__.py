"""The Grubhub meal-delivery benchmark (MDRP): its instances, travel model, online runs through
the service's dispatch code, solution files, an independent checker and the paper's figures."""
