/** The page speaks French and English: `?lang=`, then the `lang` cookie, then Accept-Language; French by default. */
export const LANGUAGES = ["fr", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

export function pickLanguage(query: string | undefined, cookie: string | undefined, acceptLanguage: string | undefined): Language {
  for (const candidate of [query, cookie]) if (candidate === "fr" || candidate === "en") return candidate;
  const preferred = (acceptLanguage ?? "")
    .split(",")
    .map((part) => part.trim().slice(0, 2).toLowerCase())
    .find((code) => code === "fr" || code === "en");
  return (preferred as Language | undefined) ?? "fr";
}

const en = {
  title: "Your account",
  login: "Log in",
  logout: "Log out",
  uid: "Login (uid)",
  uidOrMail: "Login or email address",
  password: "Password",
  oldPassword: "Current password",
  newPassword: "New password",
  confirmPassword: "New password again",
  passwordHint: (min: number) => `At least ${min} characters. A few unrelated words make a good one.`,
  setPassword: "Set my password",
  changePassword: "Change my password",
  forgot: "Forgot your password?",
  sendLink: "Send me a link",
  membershipEnd: "Membership ends",
  accessEnd: "Tech access to the hosts ends",
  none: "not set",
  keys: "SSH public keys",
  noKeys: "No key yet.",
  keysTechOnly: "Keys open the association's hosts to tech members only.",
  addKey: "Add this key",
  removeKey: "Remove",
  keyLabel: "Public key (the line of your .pub file)",
  welcome: (name: string) => `Welcome, ${name}. Choose your password.`,
  resetFor: (name: string) => `${name}, choose a new password.`,
  // Outcomes
  badLogin: "Wrong login or password.",
  tooMany: "Too many attempts from your address. Wait a few minutes and try again.",
  mismatch: "The two new passwords differ. Nothing was changed.",
  weak: (min: number) => `The directory refused this password: it needs at least ${min} characters. Nothing was changed.`,
  wrongOld: "The current password is wrong. Nothing was changed.",
  passwordChanged: "Your password is changed. Use it for mail, Nextcloud and the other services.",
  passwordSet: "Your password is set. You can now log in to mail, Nextcloud and this page.",
  linkUsed: "This link is not valid: it was already used, or replaced by a newer one. Ask for a new one.",
  linkExpired: "This link has expired. Ask for a new one.",
  linkSent: "If this account exists and may log in, a link is on its way to its mailbox.",
  keyAdded: "The key is added. On the hosts it works from your next login.",
  keyRemoved: "The key is removed.",
  keyDuplicate: "This key is already there. Nothing was changed.",
  keyProblems: {
    "not-a-key": "This is not an SSH public key: paste one line such as 'ssh-ed25519 AAAAC3Nza... you@laptop' (your .pub file).",
    "unsupported-type": "This key type is not accepted: use ed25519 (recommended), ECDSA or RSA of 2048 bits or more.",
    "not-base64": "The key data is damaged (not base64): paste the whole line of your .pub file.",
    "wrong-data": "The key data does not match its type (cut short?): paste the whole line of your .pub file.",
    "weak-rsa": "This RSA key is too weak: use ed25519, or RSA of 2048 bits or more.",
  },
  csrf: "Your session expired. Log in again.",
  mailInvitationSubject: "Your account: choose your password",
  mailInvitation: (name: string, link: string, hours: number) =>
    `Hello ${name},\n\nYour account is ready. Choose your password here (the link works once, for ${hours} hours):\n\n${link}\n`,
  mailResetSubject: "Your account: new password",
  mailReset: (name: string, link: string, minutes: number) =>
    `Hello ${name},\n\nSomeone (you, we hope) asked to reset your password. Choose a new one here (the link works once, for ${minutes} minutes):\n\n${link}\n\nIf it was not you, ignore this mail: your password stays as it is.\n`,
};

const fr: typeof en = {
  title: "Votre compte",
  login: "Se connecter",
  logout: "Se déconnecter",
  uid: "Identifiant (uid)",
  uidOrMail: "Identifiant ou adresse mail",
  password: "Mot de passe",
  oldPassword: "Mot de passe actuel",
  newPassword: "Nouveau mot de passe",
  confirmPassword: "Nouveau mot de passe, à nouveau",
  passwordHint: (min) => `Au moins ${min} caractères. Quelques mots sans rapport font un bon mot de passe.`,
  setPassword: "Choisir mon mot de passe",
  changePassword: "Changer mon mot de passe",
  forgot: "Mot de passe oublié ?",
  sendLink: "M'envoyer un lien",
  membershipEnd: "Fin d'adhésion",
  accessEnd: "Fin de l'accès technique aux serveurs",
  none: "non renseignée",
  keys: "Clés SSH publiques",
  noKeys: "Aucune clé pour l'instant.",
  keysTechOnly: "Les clés n'ouvrent les serveurs de l'association qu'aux membres de l'équipe technique.",
  addKey: "Ajouter cette clé",
  removeKey: "Retirer",
  keyLabel: "Clé publique (la ligne de votre fichier .pub)",
  welcome: (name) => `Bienvenue, ${name}. Choisissez votre mot de passe.`,
  resetFor: (name) => `${name}, choisissez un nouveau mot de passe.`,
  badLogin: "Identifiant ou mot de passe incorrect.",
  tooMany: "Trop d'essais depuis votre adresse. Attendez quelques minutes avant de réessayer.",
  mismatch: "Les deux nouveaux mots de passe diffèrent. Rien n'a été changé.",
  weak: (min) => `L'annuaire a refusé ce mot de passe : il faut au moins ${min} caractères. Rien n'a été changé.`,
  wrongOld: "Le mot de passe actuel est incorrect. Rien n'a été changé.",
  passwordChanged: "Votre mot de passe est changé. Utilisez-le pour le mail, Nextcloud et les autres services.",
  passwordSet: "Votre mot de passe est enregistré. Vous pouvez vous connecter au mail, à Nextcloud et à cette page.",
  linkUsed: "Ce lien n'est pas valable : il a déjà servi, ou un lien plus récent l'a remplacé. Demandez-en un nouveau.",
  linkExpired: "Ce lien a expiré. Demandez-en un nouveau.",
  linkSent: "Si ce compte existe et peut se connecter, un lien part vers sa boîte mail.",
  keyAdded: "La clé est ajoutée. Sur les serveurs, elle sert dès votre prochaine connexion.",
  keyRemoved: "La clé est retirée.",
  keyDuplicate: "Cette clé est déjà là. Rien n'a été changé.",
  keyProblems: {
    "not-a-key":
      "Ce n'est pas une clé SSH publique : collez une ligne comme « ssh-ed25519 AAAAC3Nza... vous@portable » (votre fichier .pub).",
    "unsupported-type": "Ce type de clé n'est pas accepté : utilisez ed25519 (conseillé), ECDSA ou RSA d'au moins 2048 bits.",
    "not-base64": "Les données de la clé sont abîmées (pas en base64) : collez la ligne entière de votre fichier .pub.",
    "wrong-data": "Les données de la clé ne correspondent pas à son type (coupée ?) : collez la ligne entière de votre fichier .pub.",
    "weak-rsa": "Cette clé RSA est trop faible : utilisez ed25519, ou RSA d'au moins 2048 bits.",
  },
  csrf: "Votre session a expiré. Reconnectez-vous.",
  mailInvitationSubject: "Votre compte : choisissez votre mot de passe",
  mailInvitation: (name, link, hours) =>
    `Bonjour ${name},\n\nVotre compte est prêt. Choisissez votre mot de passe ici (le lien sert une fois, pendant ${hours} heures) :\n\n${link}\n`,
  mailResetSubject: "Votre compte : nouveau mot de passe",
  mailReset: (name, link, minutes) =>
    `Bonjour ${name},\n\nQuelqu'un (vous, espérons-le) a demandé à changer votre mot de passe. Choisissez-en un nouveau ici (le lien sert une fois, pendant ${minutes} minutes) :\n\n${link}\n\nSi ce n'était pas vous, ignorez ce mail : votre mot de passe reste le même.\n`,
};

export type Messages = typeof en;
export const MESSAGES: Record<Language, Messages> = { en, fr };
