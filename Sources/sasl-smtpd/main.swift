// The daemon's entry point is being built; until then it only says so.
print("sasl-smtpd: not built yet")
