# Reads the ldapsearch LDIF of people whose access ended; writes the ldapmodify LDIF that locks them,
# with a "# <dn>: <what>" comment per person. Variables: tech, admins (the DNs of the two groups).

# Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil), for shadowExpire.
function days(y, m, d,    era, yoe, doy) {
  y -= (m <= 2)
  era = int((y >= 0 ? y : y - 399) / 400)
  yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
}

function flush(    what, out, mods) {
  if (dn == "") return
  what = ""; out = ""; mods = ""
  if (inTech) { out = out "dn: " tech "\nchangetype: modify\ndelete: member\nmember: " dn "\n\n"; what = what ", removed from tech" }
  if (inAdmins) { out = out "dn: " admins "\nchangetype: modify\ndelete: member\nmember: " dn "\n\n"; what = what ", removed from admins" }
  if (!hasShadow) { mods = mods "add: shadowExpire\nshadowExpire: " days(substr(end, 1, 4) + 0, substr(end, 5, 2) + 0, substr(end, 7, 2) + 0) "\n-\n"; what = what ", shadowExpire set" }
  if (!locked) { mods = mods "replace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n-\n"; what = what ", password locked" }
  if (mods != "") out = out "dn: " dn "\nchangetype: modify\n" mods "\n"
  # The comment opens this person's first record, so ldapmodify reads it as part of that record.
  if (what != "") printf "# %s (access ended %s): %s\n%s", dn, end, substr(what, 3), out
  dn = ""
}

BEGIN { tech = tolower(tech); admins = tolower(admins) }
/^dn: / { flush(); dn = substr($0, 5); inTech = inAdmins = hasShadow = locked = 0; end = ""; next }
/^memberOf: / { group = tolower(substr($0, 11)); if (group == tech) inTech = 1; if (group == admins) inAdmins = 1; next }
/^shadowExpire: / { hasShadow = 1; next }
# Only the permanent lock counts: a temporary one (failed logins) is lifted by ppolicy at the next good login.
/^pwdAccountLockedTime: 000001010000Z$/ { locked = 1; next }
/^assoAccessEnd: / { end = substr($0, 16); next }
END { flush() }
