-- Consecutive failed sign-ins per account: at 100 the password is disabled until reset.
ALTER TABLE accounts ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
