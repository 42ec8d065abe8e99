"""Framework-light method maths (torch and numpy only, no OpenMMLab import): used by every task adapter."""
