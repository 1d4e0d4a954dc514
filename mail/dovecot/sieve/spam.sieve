# Run before each user's own script (sieve_before in dovecot.conf): what rspamd marks as spam (X-Spam:
# Yes, its "add header" action: a high score, or a quarantine asked by our DMARC policy) goes to Junk.
require ["fileinto"];
if header :is "X-Spam" "Yes" {
  fileinto "Junk";
  stop;
}
